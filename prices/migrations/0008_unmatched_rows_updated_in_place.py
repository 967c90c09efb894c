import django.db.models.deletion
from django.db import migrations, models


def leave_room_for_updates(apps, schema_editor):
    # An import touches every waiting row it reads again (its run, the day of its prices):
    # room on each page lets PostgreSQL do that in place (HOT, no index writes).
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE prices_unmatchedrow SET (fillfactor = 70)")


def fill_pages(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE prices_unmatchedrow RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0001_jobrun_moves_to_jobs"),
        ("prices", "0007_merge_write_indexes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="unmatchedrow",
            name="job_run",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                to="jobs.jobrun",
            ),
        ),
        migrations.RunPython(leave_room_for_updates, fill_pages),
    ]
