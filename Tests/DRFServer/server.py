"""A real Django REST Framework server for streamdb's tests.

It serves /api/streams/ (PageNumberPagination) and /api/streams/{job_uid}/ with DRF's
TokenAuthentication, from an SQLite database the test can change between syncs.

Usage: python3 server.py DB_PATH FIXTURE_JSON PAGE_SIZE READY_FILE
Writes "PORT <n>" and "TOKEN <key>" to READY_FILE once it listens, then serves until killed.
"""
import json
import os
import signal
import socketserver
import sys
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
DB_PATH, FIXTURE, PAGE_SIZE, READY = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="streamdb-tests",
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    USE_TZ=True,
    TIME_ZONE="UTC",
    INSTALLED_APPS=[
        "django.contrib.contenttypes",
        "django.contrib.auth",
        "rest_framework",
        "rest_framework.authtoken",
        "streamsapp",
    ],
    MIDDLEWARE=["django.middleware.common.CommonMiddleware"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": DB_PATH}},
    REST_FRAMEWORK={
        "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.TokenAuthentication"],
        "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
        "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
        "PAGE_SIZE": PAGE_SIZE,
    },
)
django.setup()

from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import include, path
from rest_framework import routers, serializers, viewsets
from rest_framework.authtoken.models import Token

from streamsapp.models import Region, Stream


class RegionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Region
        fields = ["id", "title"]


class StreamSerializer(serializers.ModelSerializer):
    regions = RegionSerializer(many=True, read_only=True)

    class Meta:
        model = Stream
        fields = ["id", "regions", "job_uid", "platform_json", "binary_json", "status", "stream_uid",
                  "camera_group_uid", "created_at", "updated_at", "ovms_client", "stream_case_type"]


class StreamViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Stream.objects.all().prefetch_related("regions")
    serializer_class = StreamSerializer
    lookup_field = "job_uid"


router = routers.DefaultRouter()
router.register("streams", StreamViewSet)
urlpatterns = [path("api/", include(router.urls))]


def load(fixture):
    with open(fixture) as f:
        items = json.load(f)
    for item in items:
        stream = Stream.objects.create(
            id=item["id"], job_uid=item["job_uid"], platform_json=item["platform_json"],
            binary_json=item["binary_json"], status=item["status"], stream_uid=item["stream_uid"],
            camera_group_uid=item["camera_group_uid"], created_at=item["created_at"],
            updated_at=item["updated_at"], ovms_client=item["ovms_client"],
            stream_case_type=item["stream_case_type"])
        for region in item["regions"]:
            r, _ = Region.objects.get_or_create(id=region["id"], defaults={"title": region["title"]})
            stream.regions.add(r)


class ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


if __name__ == "__main__":
    # The test runner's thread that starts this server blocks most signals, and a child inherits
    # that mask: without this, SIGTERM from the test would never arrive.
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    call_command("migrate", run_syncdb=True, verbosity=0)
    load(FIXTURE)
    user = User.objects.create_user("streamdb")
    token = Token.objects.create(user=user)
    from django.core.wsgi import get_wsgi_application
    server = make_server("127.0.0.1", 0, get_wsgi_application(), server_class=ThreadingServer, handler_class=QuietHandler)
    with open(READY + ".tmp", "w") as f:
        f.write(f"PORT {server.server_port}\nTOKEN {token.key}\n")
    os.rename(READY + ".tmp", READY)
    server.serve_forever()
