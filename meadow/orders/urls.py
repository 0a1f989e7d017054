"""The orders app's pages, mounted in the ``web`` namespace by ``meadow/urls.py``."""

from django.urls import path

from meadow.orders import views

web_patterns = [
    path("cart/", views.cart_page, name="cart"),
    path("cart/add/", views.cart_add, name="cart_add"),
    path("cart/items/<int:sku_id>/", views.cart_item_update, name="cart_item"),
    path("buy/", views.buy_now, name="buy_now"),
    path("checkout/", views.checkout_page, name="checkout"),
    path("orders/", views.order_list_page, name="orders"),
    path("orders/<int:order_id>/", views.order_detail_page, name="order"),
    path("orders/<int:order_id>/pay/", views.order_pay, name="order_pay"),
    path("orders/<int:order_id>/do/<slug:action>/", views.order_action, name="order_action"),
    path("addresses/", views.address_book_page, name="addresses"),
    path("pay/sandbox/<str:intent_id>/", views.sandbox_pay_page, name="sandbox_pay"),
    path("seller/orders/", views.seller_orders_page, name="seller_orders"),
    path("seller/refunds/", views.seller_refunds_page, name="seller_refunds"),
    path("seller/sales/", views.seller_sales_page, name="seller_sales"),
]
