"""Import drafts (uploads never imported, failed imports) can be deleted by the user and expire
after IMPORT_DRAFT_RETENTION_DAYS with their files; imports that wrote records stay."""

from datetime import timedelta

import pytest
from celery.schedules import crontab
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from buyers import imports, tasks
from buyers.models import ImportJob
from creditguard.audit.models import AuditEvent
from creditguard.settings import base
from tests.conftest import active
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

BUYERS = b"erp_reference,legal_name,country,nace_code,currency\nC-7,Foo SA,FR,46.69,EUR\n"


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def new_job(tenant, user, name: str = "buyers.csv", content: bytes = BUYERS) -> ImportJob:
    with active(tenant):
        return imports.import_job_create(
            tenant=tenant, actor=user, kind="buyers", upload=SimpleUploadedFile(name, content)
        )


def aged(tenant, job: ImportJob, days: int, **fields) -> ImportJob:
    """Back-date a job (created_at is set on insert, so it is updated afterwards)."""
    when = timezone.now() - timedelta(days=days)
    with active(tenant):
        ImportJob.objects.filter(pk=job.pk).update(created_at=when, **fields)
        return ImportJob.objects.get(pk=job.pk)


def exists(tenant, job: ImportJob) -> bool:
    with active(tenant):
        return ImportJob.objects.filter(pk=job.pk).exists()


# --- Deleting ---------------------------------------------------------------------------------


def test_the_owner_deletes_a_draft_with_its_file_and_an_audit_record(
    client, tenant_a, owner, django_capture_on_commit_callbacks
):
    job = new_job(tenant_a, owner)
    name = job.file.name
    client.force_login(owner)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("imports:delete", args=[job.pk]))

    assert response.status_code == 302 and response["Location"] == reverse("imports:list")
    assert not exists(tenant_a, job)
    assert not default_storage.exists(name)
    with active(tenant_a):
        event = AuditEvent.objects.get(action="import.delete")
    assert event.before["file"] == "buyers.csv" and event.actor_user == owner


def test_a_failed_import_can_be_deleted(client, tenant_a, owner):
    job = new_job(tenant_a, owner)
    with active(tenant_a):
        ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.FAILED)
    client.force_login(owner)

    client.post(reverse("imports:delete", args=[job.pk]))

    assert not exists(tenant_a, job)


@pytest.mark.parametrize(
    "status", [ImportJob.Status.QUEUED, ImportJob.Status.RUNNING, ImportJob.Status.SUCCEEDED]
)
def test_an_import_that_started_cannot_be_deleted(client, tenant_a, owner, status):
    job = new_job(tenant_a, owner)
    with active(tenant_a):
        ImportJob.objects.filter(pk=job.pk).update(status=status)
    client.force_login(owner)

    response = client.post(reverse("imports:delete", args=[job.pk]), follow=True)

    assert exists(tenant_a, job)
    assert default_storage.exists(job.file.name)
    assert "cannot be deleted" in response.content.decode()


def test_a_viewer_cannot_delete_a_draft(client, tenant_a, owner):
    with active(tenant_a):
        viewer = MembershipFactory(tenant=tenant_a, role="viewer").user
    job = new_job(tenant_a, owner)
    client.force_login(viewer)

    response = client.post(reverse("imports:delete", args=[job.pk]))
    page = client.get(reverse("imports:list")).content.decode()

    assert response.status_code == 403
    assert exists(tenant_a, job)
    assert reverse("imports:delete", args=[job.pk]) not in page


def test_an_outsider_cannot_delete_another_tenants_draft(client, tenant_a, owner, outsider):
    job = new_job(tenant_a, owner)
    client.force_login(outsider)

    other_tenants = client.post(reverse("imports:delete", args=[job.pk]))
    missing = client.post(reverse("imports:delete", args=[2_000_000_000]))

    assert other_tenants.status_code == missing.status_code == 404
    assert exists(tenant_a, job)
    assert default_storage.exists(job.file.name)


def test_deleting_is_refused_on_get(client, tenant_a, owner):
    job = new_job(tenant_a, owner)
    client.force_login(owner)

    assert client.get(reverse("imports:delete", args=[job.pk])).status_code == 405
    assert exists(tenant_a, job)


def test_the_list_offers_delete_for_drafts_only(client, tenant_a, owner):
    draft = new_job(tenant_a, owner, "draft.csv")
    imported = new_job(tenant_a, owner, "imported.csv")
    with active(tenant_a):
        ImportJob.objects.filter(pk=imported.pk).update(status=ImportJob.Status.SUCCEEDED)
    client.force_login(owner)

    page = client.get(reverse("imports:list")).content.decode()

    assert reverse("imports:delete", args=[draft.pk]) in page
    assert reverse("imports:delete", args=[imported.pk]) not in page
    assert "deleted with their file after 7 days" in page


# --- Expiring -----------------------------------------------------------------------------------


def test_expiry_deletes_old_drafts_and_failed_imports_with_their_files_only(
    tenant_a, owner, django_capture_on_commit_callbacks
):
    now = timezone.now()
    old_draft = aged(tenant_a, new_job(tenant_a, owner, "old.csv"), days=8)
    old_failed = aged(
        tenant_a,
        new_job(tenant_a, owner, "failed.csv"),
        days=30,
        status=ImportJob.Status.FAILED,
        finished_at=now - timedelta(days=8),
    )
    recently_failed = aged(
        tenant_a,
        new_job(tenant_a, owner, "retried.csv"),
        days=30,
        status=ImportJob.Status.FAILED,
        finished_at=now - timedelta(days=2),
    )
    new_draft = aged(tenant_a, new_job(tenant_a, owner, "new.csv"), days=6)
    committed = aged(
        tenant_a,
        new_job(tenant_a, owner, "imported.csv"),
        days=400,
        status=ImportJob.Status.SUCCEEDED,
        finished_at=now - timedelta(days=400),
    )

    with django_capture_on_commit_callbacks(execute=True), active(tenant_a):
        deleted = imports.import_drafts_expire(tenant=tenant_a, now=now)

    assert deleted == 2
    assert not exists(tenant_a, old_draft) and not exists(tenant_a, old_failed)
    assert not default_storage.exists(old_draft.file.name)
    assert not default_storage.exists(old_failed.file.name)
    for kept in (recently_failed, new_draft, committed):
        assert exists(tenant_a, kept)
        assert default_storage.exists(kept.file.name)


def test_the_retention_period_is_a_setting(tenant_a, owner, settings):
    settings.IMPORT_DRAFT_RETENTION_DAYS = 2
    job = aged(tenant_a, new_job(tenant_a, owner), days=3)

    with active(tenant_a):
        imports.import_drafts_expire(tenant=tenant_a)

    assert not exists(tenant_a, job)


def test_expiry_of_one_tenant_leaves_the_other_tenants_drafts(tenant_a, owner, tenant_b, outsider):
    theirs = aged(tenant_b, new_job(tenant_b, outsider), days=30)

    with active(tenant_a):
        imports.import_drafts_expire(tenant=tenant_a)

    assert exists(tenant_b, theirs)


def test_the_daily_beat_fans_out_one_expiry_per_active_tenant(tenant_a, tenant_b, sent_tasks):
    entry = base.CELERY_BEAT_SCHEDULE["buyers-import-drafts-expire"]

    tasks.import_drafts_expire_all_tenants()

    assert entry["task"] == "buyers.import_drafts_expire_all_tenants"
    assert isinstance(entry["schedule"], crontab)
    sent = [task for task in sent_tasks if task.name == "buyers.import_drafts_expire"]
    assert sorted(task.kwargs["tenant_id"] for task in sent) == sorted([tenant_a.pk, tenant_b.pk])


def test_the_tenant_task_expires_that_tenants_drafts(tenant_a, owner):
    job = aged(tenant_a, new_job(tenant_a, owner), days=30)

    tasks.import_drafts_expire(tenant_id=tenant_a.pk)

    assert not exists(tenant_a, job)
