app_name = "keys"

urlpatterns: list = []
