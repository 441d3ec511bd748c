from django.db import migrations, models


def shared_units(apps, schema_editor):
    # Runs sent before each run had its own unit were counted under their delivery's.
    DeliveryRun = apps.get_model("messaging", "DeliveryRun")
    for run in DeliveryRun.objects.filter(aggregation_unit="").only("pk", "delivery_id").iterator():
        DeliveryRun.objects.filter(pk=run.pk).update(aggregation_unit=f"madoguchi_d{run.delivery_id}"[:30])


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0003_stepenrollment_next_due_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="deliveryrun",
            name="aggregation_unit",
            field=models.CharField(blank=True, max_length=30),
        ),
        migrations.RunPython(shared_units, migrations.RunPython.noop),
    ]
