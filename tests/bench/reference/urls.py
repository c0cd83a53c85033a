from django.urls import path

from .views import PaymentCreate

urlpatterns = [path("payments", PaymentCreate.as_view())]
