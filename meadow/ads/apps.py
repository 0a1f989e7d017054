from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AdsConfig(AppConfig):
    name = "meadow.ads"
    label = "ads"
    verbose_name = _("Spotlight ads")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # A top-up is paid through the orders' gateway and webhook: ads tells orders how to apply an event for an
        # intent that is not an order payment (orders sits below ads and cannot import it).
        from meadow.ads.services import topup_event_apply
        from meadow.orders.services import payment_intent_handler_add

        payment_intent_handler_add(topup_event_apply)
