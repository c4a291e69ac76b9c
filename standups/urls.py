"""Pages under /projects/<key>/ (filled in by the standups work)."""

app_name = "standups"

urlpatterns: list = []
