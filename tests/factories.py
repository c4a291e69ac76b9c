import factory
from django.contrib.auth import get_user_model

from projects.models import Project
from projects.services import create_project
from roles.models import Membership, Role
from roles.services import add_member

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


_keys = iter(
    f"{a}{b}{c}"
    for a in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for b in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
)


def make_project(*, admin=None, key: str | None = None, name: str = "Project", **fields) -> Project:
    """A project through the real service: default roles seeded, ``admin`` its administrator."""
    admin = admin or UserFactory()
    return create_project(key=key or next(_keys), name=name, by=admin, **fields)


def make_member(project: Project, role_slug: str, *, user=None, is_admin: bool = False) -> Membership:
    role = Role.objects.get(project=project, slug=role_slug)
    return add_member(project=project, user=user or UserFactory(), role=role, is_admin=is_admin)
