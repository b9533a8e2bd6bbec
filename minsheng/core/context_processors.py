from django.conf import settings


def platform(request):
    user = getattr(request, "user", None)
    can_register = can_follow_up = False
    if user is not None and user.is_authenticated:
        from minsheng.cases.rules import is_dispatcher, may_follow_up

        can_register = is_dispatcher(user)
        can_follow_up = may_follow_up(user)
    return {
        "PLATFORM_NAME": "民生警务平台",
        "DEBUG": settings.DEBUG,
        "can_register": can_register,
        "can_follow_up": can_follow_up,
    }
