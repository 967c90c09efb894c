"""JobRun now belongs to the jobs app (see jobs/migrations/0001): the model leaves this
app's state only; its table, prices_jobrun, and the foreign key to it stay as they are."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('jobs', '0001_jobrun_moves_to_jobs'),
        ('prices', '0003_review_and_match_report'),
    ]

    operations = [migrations.SeparateDatabaseAndState(state_operations=[
        migrations.AlterField(
            model_name='unmatchedrow',
            name='job_run',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to='jobs.jobrun'),
        ),
        migrations.DeleteModel(
            name='JobRun',
        ),
    ])]
