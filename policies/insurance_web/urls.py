from django.urls import path  # noqa: F401

app_name = "insurance"

# Each area appends its routes here: policies (list, detail, forms), deadlines, notifications,
# declarations.
urlpatterns: list = []
