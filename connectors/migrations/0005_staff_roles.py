"""Create the Support and Ops groups (see connectors.roles)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def create_roles(apps, schema_editor):
    from connectors.roles import setup_roles

    # Permissions are normally created after all migrations have run; the
    # groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    setup_roles(apps)


def remove_roles(apps, schema_editor):
    from connectors.roles import ROLES

    apps.get_model("auth", "Group").objects.filter(name__in=list(ROLES)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("connectors", "0004_history"),
        ("catalog", "0004_history"),
        ("inventory", "0003_history"),
        ("orders", "0003_history"),
        ("tiktok", "0001_carrier_mapping_and_packages"),
        ("django_q", "0018_task_success_index"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
