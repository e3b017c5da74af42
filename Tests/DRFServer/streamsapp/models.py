"""The upstream platform's Stream model, as far as its API shows it."""
from django.db import models


class Region(models.Model):
    title = models.CharField(max_length=100)

    class Meta:
        app_label = "streamsapp"


class Stream(models.Model):
    job_uid = models.UUIDField(unique=True)
    regions = models.ManyToManyField(Region, blank=True)
    platform_json = models.TextField()
    binary_json = models.TextField()
    status = models.IntegerField()
    stream_uid = models.UUIDField()
    camera_group_uid = models.UUIDField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    ovms_client = models.IntegerField(null=True)
    stream_case_type = models.IntegerField()

    class Meta:
        app_label = "streamsapp"
        ordering = ["id"]
