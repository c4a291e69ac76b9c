"""API routes under /api/v1/projects/<key>/, added to the "api" namespace by scrumboard/api_urls.py."""

urlpatterns: list = []
