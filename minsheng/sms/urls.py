from django.urls import path

from minsheng.sms import views

urlpatterns = [
    path("kannel/mo", views.kannel_mo, name="sms-kannel-mo"),
    path("kannel/dlr", views.kannel_dlr, name="sms-kannel-dlr"),
    path("simulator/", views.simulator, name="sms-simulator"),
    path("simulator/reply/", views.simulator_reply, name="sms-simulator-reply"),
    path("simulator/deliver/", views.simulator_deliver, name="sms-simulator-deliver"),
]
