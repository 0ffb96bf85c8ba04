from conftest import table_counts


def test_register_and_create(client, alice, app):
    project = alice.create_project("Launch")
    task = alice.create_task(project["id"], "First")
    assert task["position"] == 0
    assert table_counts(app)["tasks"] == 1


def test_wrong_method_on_a_page_is_an_html_405_with_allow(client):
    resp = client.put("/login")
    assert resp.status_code == 405
    assert resp.mimetype == "text/html"
    assert "GET" in resp.headers["Allow"] and "POST" in resp.headers["Allow"]
