"""Secret values kept out of Django's error pages and error mails.

With ``DEBUG`` off, Django's :class:`~django.views.debug.ExceptionReporter`
renders the report that the admins' error mail carries. Its default filter
hides only the settings whose names look secret and the parameters and
variables that a view marks with ``sensitive_post_parameters`` or
``sensitive_variables``. This filter also hides the settings that hold
connection URLs, every POST parameter and local variable whose name looks
secret (also as a key inside a dict), and the password inside any
``scheme://user:password@host`` URL.
"""

import re

from django.views.debug import SafeExceptionReporterFilter

#: Settings whose values are hidden: Django's list (API, AUTH, TOKEN, KEY,
#: SECRET, PASS, SIGNATURE, HTTP_COOKIE), plus those that hold connection
#: URLs (REDIS_URL, CACHES' LOCATION, Q_CLUSTER's "redis", a broker or DSN).
HIDDEN_SETTINGS = re.compile(
    r"API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|CREDENTIAL"
    r"|REDIS|LOCATION|BROKER|DSN|DATABASE_URL",
    flags=re.I,
)
#: POST parameters, local variables and dict keys whose values are hidden.
HIDDEN_VARIABLES = re.compile(
    r"SECRET|PASS|TOKEN|AUTH|SIGN|CREDENTIAL|COOKIE|KEY", flags=re.I
)
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]+@", re.I)


def hide_url_password(text: str) -> str:
    """Replace the password of every ``scheme://user:password@`` URL in text."""
    return _URL_PASSWORD.sub(r"\g<head>********@", text)


class SecretsReporterFilter(SafeExceptionReporterFilter):
    """Hide secret-looking settings, parameters and variables from reports."""

    hidden_settings = HIDDEN_SETTINGS

    def cleanse_setting(self, key, value):
        cleansed = super().cleanse_setting(key, value)
        if isinstance(cleansed, str):
            return hide_url_password(cleansed)
        return cleansed

    def cleanse_variable(self, name, value):
        """Return ``value``, hidden when ``name`` looks secret; dicts, lists
        and tuples are cleansed item by item, and URL passwords hidden."""
        if isinstance(name, str) and HIDDEN_VARIABLES.search(name):
            return self.cleansed_substitute
        if isinstance(value, dict):
            return {
                key: self.cleanse_variable(key, item) for key, item in value.items()
            }
        if isinstance(value, list | tuple):
            return type(value)(self.cleanse_variable("", item) for item in value)
        if isinstance(value, str):
            return hide_url_password(value)
        return value

    def get_post_parameters(self, request):
        parameters = super().get_post_parameters(request)
        if request is None or not self.is_active(request):
            return parameters
        cleansed = parameters.copy()
        for name in cleansed:
            if HIDDEN_VARIABLES.search(name):
                cleansed[name] = self.cleansed_substitute
        return cleansed

    def get_traceback_frame_variables(self, request, tb_frame):
        variables = super().get_traceback_frame_variables(request, tb_frame)
        if not self.is_active(request):
            return variables
        return [(name, self.cleanse_variable(name, value)) for name, value in variables]
