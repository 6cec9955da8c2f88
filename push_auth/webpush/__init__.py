"""Web Push (RFC 8030) as a Notifier: payloads encrypted for the subscription (RFC 8291,
aes128gcm), the sender identified by VAPID (RFC 8292), the subscriptions kept by the host."""

from push_auth.webpush.notifier import Delivery, WebPushNotifier, WebPushPolicy
from push_auth.webpush.subscriptions import Subscription, Subscriptions
from push_auth.webpush.vapid import VapidKeys

__all__ = [
    "Delivery",
    "Subscription",
    "Subscriptions",
    "VapidKeys",
    "WebPushNotifier",
    "WebPushPolicy",
]
