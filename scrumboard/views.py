from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpResponseRedirect


class SiteURLPasswordResetView(auth_views.PasswordResetView):
    """Reset links point at the configured SITE_URL, never at the request's Host header."""

    email_template_name = "registration/password_reset_email.txt"

    def form_valid(self, form):
        site = urlsplit(settings.SITE_URL)
        form.save(
            domain_override=site.netloc,
            use_https=site.scheme == "https",
            token_generator=self.token_generator,
            from_email=self.from_email,
            email_template_name=self.email_template_name,
            subject_template_name=self.subject_template_name,
            html_email_template_name=self.html_email_template_name,
            request=self.request,
            extra_email_context={"site_name": "Scrumboard"},
        )
        return HttpResponseRedirect(self.get_success_url())
