from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):
    # Without a collected manifest (development, tests) fall back to plain names
    # instead of failing; the Docker image runs collectstatic and gets hashed names.
    manifest_strict = False

    def stored_name(self, name: str) -> str:
        try:
            return super().stored_name(name)
        except ValueError:
            # manifest_strict=False alone is not enough: Django then hashes the file
            # found in STATIC_ROOT and raises when nothing was collected there. The
            # plain name is served by WhiteNoise from the app's static folders.
            return name
