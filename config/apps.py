from django.contrib.admin.apps import AdminConfig


class JunctionAdminConfig(AdminConfig):
    """The Django admin, with :class:`config.admin.JunctionAdminSite` as its
    default site, so ``admin.site`` and ``@admin.register`` use it."""

    default_site = "config.admin.JunctionAdminSite"
