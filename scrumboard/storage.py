from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):
    # Without a collected manifest (development, tests) fall back to plain names
    # instead of failing; the Docker image runs collectstatic and gets hashed names.
    manifest_strict = False
