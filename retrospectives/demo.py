"""The demo project's retrospectives history: agenda entries that scrumboard/demo.py plays in time order.

Every completed sprint has its retrospective right after the review, on its last working day.
Sprints 1 and 2 have short ones (a few cards, one action each). Sprint 3's is the full story: its
review ticks Sprint 2's action, the team writes cards, the Scrum Master groups the design and CI
cards, everyone votes, the top topics are discussed, two action items are agreed and the
retrospective is closed, so they are backlog items for Sprint 4.
"""

import datetime

from retrospectives import services
from retrospectives.models import ActionItem, Card, CardGroup, Retrospective

SPRINT = 2  # the third sprint (index into history.sprints)
FACILITATOR = "aigerim"
CARDS = [
    ("arman", "to_improve", "Waited two days for the chart colours from design"),
    ("dana", "to_improve", "Design hand-offs arrive late in the sprint"),
    ("arman", "to_improve", "Flaky end-to-end tests slow down merges"),
    ("timur", "to_improve", "CI takes 25 minutes on every push"),
    ("timur", "went_well", "Grafana alerts caught the stage disk problem early"),
    ("madina", "went_well", "Planning with capacity and velocity felt realistic"),
    ("daniyar", "ideas", "Invite Sergey to a mid-sprint demo"),
    ("dana", "ideas", "Pair on the Kazakh translations"),
]
GROUPS = [
    (
        "Design hand-offs",
        ["Waited two days for the chart colours from design", "Design hand-offs arrive late in the sprint"],
    ),
    ("Slow and flaky CI", ["Flaky end-to-end tests slow down merges", "CI takes 25 minutes on every push"]),
]
# member -> the cards or groups they vote for (three votes each).
VOTES = {
    "aigerim": ["Slow and flaky CI", "Slow and flaky CI", "Design hand-offs"],
    "daniyar": ["Design hand-offs", "Invite Sergey to a mid-sprint demo", "Slow and flaky CI"],
    "madina": ["Design hand-offs", "Design hand-offs", "Pair on the Kazakh translations"],
    "arman": ["Slow and flaky CI", "Slow and flaky CI", "Design hand-offs"],
    "dana": ["Design hand-offs", "Pair on the Kazakh translations", "Slow and flaky CI"],
    "timur": ["Slow and flaky CI", "Slow and flaky CI", "Invite Sergey to a mid-sprint demo"],
}
NOTES = {
    "Slow and flaky CI": "Quarantine flaky tests and cache the dependencies between jobs.",
    "Design hand-offs": "Daniyar brings the designs to refinement, before planning.",
}
# (text, owner, days after the next sprint starts)
ACTIONS = [
    ("Quarantine flaky end-to-end tests and cache CI dependencies", "timur", 4),
    ("Bring designs to refinement before sprint planning", "daniyar", 2),
]
# Sprints 1 and 2: (template, [(member, column, text)], (action, owner)).
SHORT = {
    0: (
        "start_stop_continue",
        [
            ("arman", "start", "Write the acceptance criteria before estimating"),
            ("timur", "continue", "Deploying to stage every day"),
            ("dana", "stop", "Starting stories before the designs are ready"),
        ],
        ("Check the Definition of Ready at refinement", "daniyar"),
    ),
    1: (
        "mad_sad_glad",
        [
            ("madina", "glad", "Drag and drop ranking works on a 5,000-item backlog"),
            ("arman", "sad", "Two stories waited a day for review"),
            ("timur", "mad", "The stage server ran out of disk twice"),
        ],
        ("Review pull requests before the daily scrum", "arman"),
    ),
}
HEALTH = {
    "aigerim": {"value": 4, "pace": 3, "learning": 4, "fun": 4, "teamwork": 5},
    "arman": {"value": 4, "pace": 2, "learning": 5, "fun": 3, "teamwork": 4},
    "dana": {"value": 5, "pace": 3, "learning": 4, "fun": 4, "teamwork": 4},
    "timur": {"value": 4, "pace": 3, "learning": 3, "fun": 4, "teamwork": 4},
}


def _last_day(history, number: int) -> datetime.date:
    project = history.project
    start = history.calendar.starts[number]
    days = (start + datetime.timedelta(days=n) for n in range(project.sprint_length_days))
    return [day for day in days if day.isoweekday() in project.working_days][-1]


def _drop_automatic(sprint) -> None:
    """Completing a sprint creates its retrospective with the default template; the demo's own
    script opens each one with a chosen template, so the untouched automatic one makes way."""
    Retrospective.objects.filter(sprint=sprint, cards__isnull=True).delete()


def _short(history, number: int, template: str, cards: list, action: tuple):
    """A quick retrospective of sprint ``number``, closed with one action item, at 16:30 on its last day."""
    moment = datetime.datetime.combine(_last_day(history, number), datetime.time(16, 30), tzinfo=history.project.tzinfo)

    def run() -> None:
        users = history.users
        facilitator = users[FACILITATOR]
        _drop_automatic(history.sprints[number])
        retro = services.create_retrospective(
            project=history.project,
            by=facilitator,
            sprint=history.sprints[number],
            template=template,
            health_check=True,
        )
        # The health check's trend: the pace felt worse each sprint, learning better.
        for username, ratings in HEALTH.items():
            for statement, score in ratings.items():
                drift = {"pace": 2 - number, "learning": number - 2}.get(statement, 0)
                score = min(5, max(1, score + drift))
                services.rate_health(retro=retro, by=users[username], statement=statement, score=score)
        retro = services.advance_phase(retro=retro, by=facilitator)
        for username, column, text in cards:
            services.add_card(retro=retro, by=users[username], column=column, text=text)
        for _step in range(3):  # group, vote: nothing to group, one vote each
            retro = services.advance_phase(retro=retro, by=facilitator)
            if retro.phase == "vote":
                for card in Card.objects.filter(retrospective=retro):
                    services.cast_vote(retro=retro, by=card.author, card=card)
        retro = services.advance_phase(retro=retro, by=facilitator)
        text, owner = action
        services.add_action_item(retro=retro, by=facilitator, text=text, owner=users[owner])
        services.close_retrospective(retro=retro, by=facilitator)

    return (moment, 0, run)


def demo_agenda(history) -> list:
    """(moment, order, action) entries; history is scrumboard.demo._History (users, items, sprints, clock)."""
    project = history.project
    tz = project.tzinfo
    last_day = _last_day(history, SPRINT)
    next_start = history.calendar.starts[SPRINT + 1]
    users = history.users
    facilitator = users[FACILITATOR]

    def at(time: str) -> datetime.datetime:
        return datetime.datetime.combine(last_day, datetime.time.fromisoformat(time), tzinfo=tz)

    def retro() -> Retrospective:
        found = Retrospective.objects.get(sprint=history.sprints[SPRINT])  # the sprint is looked up when it runs
        found.project = project
        return found

    def open_it() -> None:
        _drop_automatic(history.sprints[SPRINT])
        created = services.create_retrospective(
            project=project, by=facilitator, sprint=history.sprints[SPRINT], health_check=True
        )
        # The review: Sprint 2's action was done.
        for action in ActionItem.objects.filter(retrospective__sprint=history.sprints[SPRINT - 1]):
            services.update_action_item(action=action, by=facilitator, done=True)
        services.advance_phase(retro=created, by=facilitator)

    def write() -> None:
        current = retro()
        for username, column, text in CARDS:
            services.add_card(retro=current, by=users[username], column=column, text=text)
        for username, ratings in HEALTH.items():
            for statement, score in ratings.items():
                services.rate_health(retro=current, by=users[username], statement=statement, score=score)

    def group() -> None:
        current = services.advance_phase(retro=retro(), by=facilitator)
        for title, texts in GROUPS:
            cards = list(Card.objects.filter(retrospective=current, text__in=texts))
            services.group_cards(retro=current, by=facilitator, cards=cards, title=title)

    def vote() -> None:
        current = services.advance_phase(retro=retro(), by=facilitator)
        for username, targets in VOTES.items():
            for target in targets:
                group = CardGroup.objects.filter(retrospective=current, title=target).first()
                card = None if group else Card.objects.get(retrospective=current, text=target)
                services.cast_vote(retro=current, by=users[username], card=card, group=group)

    def discuss() -> None:
        current = services.advance_phase(retro=retro(), by=facilitator)
        for title, text in NOTES.items():
            group = CardGroup.objects.get(retrospective=current, title=title)
            services.add_note(retro=current, by=facilitator, text=text, group=group)

    def actions() -> None:
        current = services.advance_phase(retro=retro(), by=facilitator)
        for text, owner, after in ACTIONS:
            due = next_start + datetime.timedelta(days=after)
            services.add_action_item(retro=current, by=facilitator, text=text, owner=users[owner], due_date=due)

    def close() -> None:
        services.close_retrospective(retro=retro(), by=facilitator)

    # After the review (16:00): an hour with the team, phase by phase.
    return [
        *(_short(history, number, *plan) for number, plan in SHORT.items()),
        (at("16:20"), 0, open_it),
        (at("16:30"), 0, write),
        (at("16:40"), 0, group),
        (at("16:45"), 0, vote),
        (at("16:55"), 0, discuss),
        (at("17:10"), 0, actions),
        (at("17:20"), 0, close),
    ]
