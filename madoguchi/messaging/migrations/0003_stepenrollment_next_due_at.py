from django.db import migrations, models
from django.db.models import F


def due_now(apps, schema_editor):
    # Every unfinished enrolment is looked at once; the job then sets when its next step is due.
    StepEnrollment = apps.get_model("messaging", "StepEnrollment")
    StepEnrollment.objects.filter(finished=False).update(next_due_at=F("anchored_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0002_batch_claimed_by"),
    ]

    operations = [
        migrations.AddField(
            model_name="stepenrollment",
            name="next_due_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(due_now, migrations.RunPython.noop),
        migrations.RemoveIndex(
            model_name="stepenrollment",
            name="messaging_s_finishe_812d4f_idx",
        ),
        migrations.AddIndex(
            model_name="stepenrollment",
            index=models.Index(fields=["sequence", "finished", "next_due_at"], name="step_enrollment_due"),
        ),
    ]
