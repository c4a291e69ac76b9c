"""Pages under /projects/<key>/ (filled in by the retrospectives work)."""

app_name = "retrospectives"

urlpatterns: list = []
