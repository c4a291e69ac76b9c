from django.core.management.base import BaseCommand

from scrumboard.demo import DEMO_PASSWORD, DEMO_TEAM, load_demo


class Command(BaseCommand):
    help = "Loads the demo project (key SB) with a member in every role. Safe to run again."

    def handle(self, *args, **options) -> None:
        project = load_demo()
        self.stdout.write(self.style.SUCCESS(f"Demo project {project.key} ready."))
        self.stdout.write(f"Log in as {DEMO_TEAM[0][0]} / {DEMO_PASSWORD} (Scrum Master, administrator);")
        self.stdout.write("other members: " + ", ".join(name for name, *_ in DEMO_TEAM[1:]) + " (same password).")
