def test_sign_in_page_is_served(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert b"Sign in" in response.data


def test_staff_sees_home(staff_client):
    response = staff_client.get("/")
    assert response.status_code == 200
    assert b"Active mothers" in response.data
