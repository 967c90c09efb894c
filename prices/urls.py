
app_name = "prices"

urlpatterns: list = []
