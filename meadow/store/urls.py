"""The store's pages, mounted in the ``web`` namespace by ``meadow/urls.py``."""

from django.urls import path

from meadow.store import views

web_patterns = [
    path("products/<int:product_id>/", views.product_page, name="product"),
    path("notes/<int:note_id>/products/<int:product_id>/", views.product_tag_click, name="product_tag_click"),
    path("shops/<int:shop_id>/", views.shop_page, name="shop"),
    path("seller/", views.seller_dashboard, name="seller_dashboard"),
    path("seller/products/new/", views.seller_product_edit, name="seller_product_new"),
    path("seller/products/<int:product_id>/", views.seller_product_edit, name="seller_product"),
    path(
        "seller/products/<int:product_id>/images/<int:image_id>/delete/",
        views.seller_product_image_delete,
        name="seller_product_image_delete",
    ),
    path("store/picker/", views.product_picker, name="product_picker"),
]
