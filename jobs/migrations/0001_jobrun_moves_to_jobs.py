"""JobRun moves from the prices app to this one. The table stays where it is
(prices_jobrun, created and altered by prices' migrations 0001-0003): only Django's
record of which app owns the model changes, so nothing is copied and no row is touched."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('prices', '0003_review_and_match_report'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.CreateModel(
            name='JobRun',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('price_sync', 'Price sync'), ('price_import', 'Price guide import'), ('catalog_sync', 'Catalog sync'), ('retention', 'Retention'), ('demo_backfill', 'Demo history backfill'), ('price_rematch', 'Re-match of waiting rows')], max_length=16)),
                ('source', models.CharField(blank=True, max_length=16)),
                ('status', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('succeeded', 'Succeeded'), ('partial', 'Finished with errors'), ('failed', 'Failed'), ('interrupted', 'Interrupted')], default='running', max_length=12)),
                ('description', models.CharField(blank=True, max_length=200)),
                ('started_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('fetched', models.PositiveIntegerField(default=0)),
                ('written', models.PositiveIntegerField(default=0)),
                ('unchanged', models.PositiveIntegerField(default=0)),
                ('rejected', models.PositiveIntegerField(default=0)),
                ('progress_done', models.PositiveIntegerField(default=0)),
                ('progress_total', models.PositiveIntegerField(blank=True, null=True)),
                ('errors', models.JSONField(blank=True, default=list)),
                ('report', models.JSONField(blank=True, default=dict, help_text="What the job found, e.g. an import's match report.")),
                ('heartbeat_at', models.DateTimeField(default=django.utils.timezone.now, help_text="Refreshed while the run's process is alive; stale means it died.")),
                ('upload', models.CharField(blank=True, help_text='The stored upload this run imports (in var/uploads), kept until the run ends so that a run its worker lost can be tried again.', max_length=100)),
                ('observed_on', models.DateField(blank=True, help_text='Price imports: the day the imported prices are of.', null=True)),
                ('retry_of', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='retries', to='jobs.jobrun')),
            ],
            options={
                'db_table': 'prices_jobrun',
                'ordering': ['-started_at'],
                'indexes': [models.Index(fields=['kind', '-started_at'], name='prices_jobr_kind_0903b5_idx'), models.Index(fields=['status', 'heartbeat_at'], name='prices_jobr_status_afc864_idx')],
                'constraints': [models.UniqueConstraint(condition=models.Q(('kind', 'price_sync'), ('status', 'running')), fields=('kind', 'source'), name='one_running_price_sync_per_source')],
            },
        ),
        ])]
