import factory
from django.contrib.auth import get_user_model

from creditguard.accounts.models import Membership
from creditguard.api.models import ApiKey, generate_raw_key, hash_secret
from creditguard.tenancy.models import Tenant

DEFAULT_PASSWORD = "correct-horse-battery"


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Seller {n} GmbH")
    slug = factory.Sequence(lambda n: f"seller-{n}")
    base_currency = "EUR"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    username = factory.LazyAttribute(lambda user: user.email)
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"User{n}")
    password = factory.django.Password(DEFAULT_PASSWORD)


class MembershipFactory(factory.django.DjangoModelFactory):
    """Create inside an active tenant (row-level security checks the insert)."""

    class Meta:
        model = Membership

    tenant = factory.SubFactory(TenantFactory)
    user = factory.SubFactory(UserFactory)
    role = "analyst"
    approval_authority = 0
    approval_currency = "EUR"


class ApiKeyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ApiKey

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"ERP connector {n}")
    scope = "read"

    @classmethod
    def create_with_raw_key(cls, **kwargs) -> tuple[ApiKey, str]:
        raw_key, prefix = generate_raw_key()
        api_key = cls.create(prefix=prefix, hashed_key=hash_secret(raw_key), **kwargs)
        return api_key, raw_key
