"""``minsheng setup-demo``: what ``make run`` does before serving — organisation and demo data once,
demo accounts always (so the printed logins work), then print the logins."""

from django.core.management import call_command
from django.core.management.base import BaseCommand

from minsheng.accounts.demo import DEMO_PASSWORD, ensure_demo_accounts
from minsheng.cases.models import Case
from minsheng.units.models import Unit


class Command(BaseCommand):
    help = "首次启动时载入组织机构与演示数据，并打印演示账号"

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=90)
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, days, seed, **options):
        if not Unit.objects.exists():
            call_command("load_org", "jinan")
        accounts = ensure_demo_accounts()
        if not Case.objects.exists():
            call_command("demo_data", days=days, seed=seed)
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"演示账号（密码均为 {DEMO_PASSWORD}）："))
        for username, roles, unit in accounts:
            self.stdout.write(f"  {username:<14} {roles:<16} {unit}")
