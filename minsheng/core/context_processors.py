from django.conf import settings


def platform(request):
    user = getattr(request, "user", None)
    can_register = False
    if user is not None and user.is_authenticated:
        from minsheng.cases.rules import is_dispatcher

        can_register = is_dispatcher(user)
    return {"PLATFORM_NAME": "民生警务平台", "DEBUG": settings.DEBUG, "can_register": can_register}
