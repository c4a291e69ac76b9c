"""A project with N backlog items, written in bulk: seeding is the benchmark's setup, not its subject.

The project, its team and its token go through the real services; the items are bulk-inserted
with ranks from ``backlog.ranking.keys_between`` and numbers 1..N, as the services would leave
them. Everything random comes from a seeded generator, so every run sees the same backlog.
"""

import random
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from backlog import ranking
from backlog.models import DEFAULT_SCALE, BacklogItem, ItemCounter, ItemType, Label, Priority, Status
from integrations.models import TokenScope
from integrations.services import create_token
from projects.services import create_project
from roles.models import Role
from roles.services import add_member

PROJECT_KEY = "BENCH"
# Searched for on the benchmark's search rows; always lower case, because SQLite's LIKE
# folds the case of ASCII letters only.
COMMON_WORD = "экспорт"  # in roughly one item in twelve
RARE_WORD = "жылжымайтын"  # in exactly RARE_COUNT items, wherever they are
RARE_COUNT = 5
FILTER_TYPE = ItemType.BUG
FILTER_LABEL = "backend"
BATCH = 2000

TEAM = [
    ("aigerim", "product-owner"),
    ("daniyar", "backend"),
    ("olga", "backend"),
    ("timur", "frontend"),
    ("asel", "frontend"),
    ("sergei", "devops"),
    ("madina", "system-analyst"),
    ("nurlan", "backend"),
]
FILTER_ASSIGNEE = "daniyar"
LABELS = [
    "backend",
    "frontend",
    "api",
    "ui",
    "security",
    "performance",
    "mobile",
    "docs",
    "tech-debt",
    "платежи",
    "отчёты",
    "төлем",
]
LABEL_WEIGHTS = [25, 20, 15, 12, 5, 6, 8, 5, 8, 4, 5, 3]

VERBS = [
    "Add",
    "Fix",
    "Refactor",
    "Improve",
    "Remove",
    "Support",
    "Migrate",
    "Document",
    "Validate",
    "Speed up",
    "Redesign",
    "Test",
]
OBJECTS = [
    "sprint burndown chart",
    "login page",
    "CSV export",
    "webhook retries",
    "daily scrum timer",
    "invitation e-mails",
    "backlog filters",
    "role permissions",
    "API pagination",
    "release forecast",
    "retrospective voting",
    "Jira import",
    "calendar feed",
    "password reset",
    "notification settings",
    "search index",
    "project settings",
    "story point scale",
    "epic progress bar",
    "board columns",
]
QUALIFIERS = [
    "",
    "",
    "",
    "for mobile",
    "on Safari",
    "for large projects",
    "in the Kazakh locale",
    "for stakeholders",
    "after sprint start",
    "with keyboard only",
    "behind a feature flag",
]
RUSSIAN_TITLES = [
    "Исправить ошибку оплаты в корзине",
    "Добавить экспорт отчёта спринта",
    "Ускорить загрузку доски задач",
    "Перевести страницу настроек",
    "Обновить уведомления о ретроспективе",
    "Проверить права доступа для заказчика",
    "Сделать фильтр по исполнителю",
    "Починить таймер ежедневной встречи",
]
KAZAKH_TITLES = [
    "Төлем бетін жаңарту",
    "Спринт есебін экспорттау",
    "Тапсырмалар тақтасын жылдамдату",
    "Баптаулар бетін аудару",
    "Хабарландыру жіберуді түзету",
    "Пайдаланушы рөлдерін тексеру",
]
ENGLISH_SENTENCES = [
    "As a Scrum Master I want to see the sprint at a glance so that the daily scrum stays short.",
    "The current behaviour confuses new team members during sprint planning.",
    "**Steps to reproduce:** open the board, drag a card to *Done*, reload the page.",
    "Expected: the card stays in the column. Actual: it jumps back to *In Progress*.",
    "See the discussion in the last retrospective; the team voted this the top pain point.",
    "The endpoint `GET /api/v1/projects/{key}/items/` must keep its page size under 200.",
    "- keep the existing URLs\n- add a migration\n- update the API docs",
    "Customers on slow connections wait several seconds for the first paint.",
    "Acceptance is agreed with the Product Owner; estimates were given by backend and frontend.",
    "This blocks the release 1.0 milestone on the roadmap.",
    "Check the behaviour with 10,000 items and with an empty backlog.",
    "Add a feature flag so that we can roll it out to one project first.",
    "Translations for Russian and Kazakh are needed before the release.",
    "Logs show a timeout after 30 seconds when the export runs on a large project.",
    "Keep the audit trail: every change must appear in the item history.",
]
RUSSIAN_SENTENCES = [
    "Пользователи жалуются, что страница открывается слишком долго.",
    "Нужно проверить поведение на мобильных устройствах и в старых браузерах.",
    "Согласовать формат с владельцем продукта до начала спринта.",
    "После обновления пропадает фильтр по меткам, приходится выбирать заново.",
    "Описание ошибки: при сохранении оценки появляется сообщение об ошибке.",
    "Заказчик просит добавить экспорт отчёта в формате CSV и Excel.",
]
KAZAKH_SENTENCES = [
    "Пайдаланушылар бет өте баяу ашылатынын айтады.",
    "Өнім иесімен спринт басталғанға дейін келісу керек.",
    "Мобильді құрылғыларда тексеру қажет.",
    "Есепті CSV пішімінде экспорттау мүмкіндігін қосу керек.",
]
CRITERIA = [
    "Works for a project with 10,000 items",
    "Covered by an API test",
    "Translated into ru and kk",
    "Documented in the API reference",
    "Reviewed by the Product Owner",
]


@dataclass
class BenchProject:
    project: object
    owner: object
    token: str  # a write-scoped Bearer token of the owner
    session_cookie: str  # a logged-in session of the owner, for pages
    size: int
    filter_label: str = FILTER_LABEL
    filter_assignee: str = FILTER_ASSIGNEE
    filter_type: str = FILTER_TYPE
    common_word: str = COMMON_WORD
    rare_word: str = RARE_WORD

    def key(self, number: int) -> str:
        return f"{PROJECT_KEY}-{number}"


def _title(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.2:
        return rng.choice(RUSSIAN_TITLES)
    if roll < 0.3:
        return rng.choice(KAZAKH_TITLES)
    return " ".join(part for part in (rng.choice(VERBS), rng.choice(OBJECTS), rng.choice(QUALIFIERS)) if part)


def _description(rng: random.Random) -> str:
    sentences = []
    for _ in range(rng.randint(1, 5)):
        roll = rng.random()
        pool = RUSSIAN_SENTENCES if roll < 0.2 else KAZAKH_SENTENCES if roll < 0.3 else ENGLISH_SENTENCES
        sentences.append(rng.choice(pool))
    return "\n\n".join(sentences)


def _type(rng: random.Random) -> str:
    return rng.choices([ItemType.STORY, ItemType.TASK, ItemType.BUG, ItemType.SPIKE], weights=[50, 28, 17, 5])[0]


def _team(size: int):
    User = get_user_model()
    owner = User(username="bench-sm", email="bench-sm@example.com", first_name="Bench")
    owner.set_unusable_password()
    owner.save()
    project = create_project(
        key=PROJECT_KEY,
        name=f"Benchmark backlog ({size:,} items)",
        by=owner,
        definition_of_done="Code reviewed\nTests pass\nDeployed to stage",
    )
    roles = {role.slug: role for role in Role.objects.filter(project=project)}
    members = []
    for username, role in TEAM:
        user = User(username=username, email=f"{username}@example.com")
        user.set_unusable_password()
        user.save()
        add_member(project=project, user=user, role=roles[role])
        members.append(user)
    return owner, project, members


class _Inserter:
    """Multi-row INSERTs of plain column values: the ORM's per-object work would take most of a minute.

    Values are prepared by each field as the ORM would (JSON, decimals, dates), remembered per
    distinct value since a seeded backlog repeats them; fields left out take their default.
    """

    def __init__(self, model) -> None:
        self.model = model
        self.fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        self._prepared: dict[tuple[str, str], object] = {}

    def _prepare(self, field, value):
        if value is None or isinstance(value, str | int | bool):
            return value
        key = (field.attname, repr(value))
        if key not in self._prepared:
            self._prepared[key] = field.get_db_prep_save(value, connection)
        return self._prepared[key]

    def insert(self, rows: list[dict]) -> None:
        if not rows:
            return
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in self.fields)
        defaults = {f.attname: f.get_default() for f in self.fields}
        values = [tuple(self._prepare(f, row.get(f.attname, defaults[f.attname])) for f in self.fields) for row in rows]
        # Names come from the model's metadata and every value is a parameter: nothing to inject.
        table = quote(self.model._meta.db_table)
        with connection.cursor() as cursor:
            raw = cursor.cursor  # the driver's own cursor: its bulk path, without the debug wrapper
            if connection.vendor == "postgresql":
                from psycopg2.extras import execute_values

                execute_values(
                    raw,
                    f"INSERT INTO {table} ({columns}) VALUES %s",  # noqa: S608
                    values,
                    page_size=BATCH,
                )
            else:
                marks = ", ".join("?" for _ in self.fields)
                raw.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", values)  # noqa: S608


@transaction.atomic
def seed_backlog(size: int) -> BenchProject:
    rng = random.Random(size)
    owner, project, members = _team(size)
    statuses = list(Status.objects.filter(project=project).order_by("order"))
    Label.objects.bulk_create([Label(project=project, name=name) for name in LABELS])
    label_ids = dict(Label.objects.filter(project=project).values_list("name", "pk"))
    ranks = ranking.keys_between(None, None, size)
    done_checklist = [{"text": text, "done": False} for text in project.definition_of_done_items()]
    rare_numbers = set(rng.sample(range(1, size + 1), RARE_COUNT))
    now = timezone.now()
    scale = [*DEFAULT_SCALE[:8], "", "", "?"]
    member_ids = [member.pk for member in members]
    priorities = Priority.values

    def item(number: int, type_: str, parent_id: int | None) -> dict:
        estimate = rng.choice(scale)
        description = _description(rng)
        if number in rare_numbers:
            description += "\n\nПроверить на сервере: жылжымайтын мүлік тізілімі."
        return {
            "project_id": project.pk,
            "number": number,
            "type": type_,
            "description": description,
            "title": _title(rng) if type_ != ItemType.EPIC else f"Epic: {rng.choice(OBJECTS)}",
            "acceptance_criteria": [{"text": t, "done": False} for t in rng.sample(CRITERIA, rng.randint(0, 3))],
            "status_id": rng.choices(statuses, weights=[80, 8, 4, 8])[0].pk,
            "priority": rng.choice(priorities),
            "assignee_id": rng.choice(member_ids) if rng.random() < 0.7 else None,
            "reporter_id": owner.pk,
            "parent_id": parent_id,
            "estimate": estimate,
            "points": BacklogItem.points_for(estimate),
            "role_points": {},
            "ready": rng.random() < 0.4,
            "done_checklist": done_checklist,
            "rank": ranks[number - 1],
            "created_at": now,
            "updated_at": now,
        }

    items = _Inserter(BacklogItem)
    # One epic in 250, spread through the backlog; they go in first so the rest can point at them.
    epic_numbers = {n for n in range(1, size + 1) if n % 250 == 1}
    items.insert([item(n, ItemType.EPIC, None) for n in sorted(epic_numbers)])
    epic_ids = list(BacklogItem.objects.filter(project=project, type=ItemType.EPIC).values_list("pk", flat=True))
    batch: list[dict] = []
    for number in range(1, size + 1):
        if number in epic_numbers:
            continue
        batch.append(item(number, _type(rng), rng.choice(epic_ids) if rng.random() < 0.5 else None))
        if len(batch) == BATCH:
            items.insert(batch)
            batch = []
    items.insert(batch)

    links = _Inserter(BacklogItem.labels.through)
    batch = []
    for pk in BacklogItem.objects.filter(project=project).order_by("number").values_list("pk", flat=True):
        count = rng.choices([0, 1, 2, 3], weights=[20, 45, 25, 10])[0]
        names = set(rng.choices(LABELS, weights=LABEL_WEIGHTS, k=count))
        batch.extend({"backlogitem_id": pk, "label_id": label_ids[name]} for name in sorted(names))
    for start in range(0, len(batch), BATCH):
        links.insert(batch[start : start + BATCH])
    ItemCounter.objects.update_or_create(project=project, defaults={"last_number": size})

    _token, raw = create_token(user=owner, name="benchmark", scope=TokenScope.WRITE)
    client = Client()
    client.force_login(owner)
    return BenchProject(
        project=project,
        owner=owner,
        token=raw,
        size=size,
        session_cookie=client.cookies[settings.SESSION_COOKIE_NAME].value,
    )


def settle() -> None:
    """Leaves PostgreSQL as autovacuum would leave a live database after the import.

    ANALYZE gives the planner statistics; VACUUM also merges the GIN index's pending list.
    Straight after a bulk insert every new row waits in that list, the planner prices the
    search index too dear to use, and a search scans the whole table instead.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
