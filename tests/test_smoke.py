from conftest import table_counts


def test_register_and_create(client, alice, app):
    project = alice.create_project("Launch")
    task = alice.create_task(project["id"], "First")
    assert task["position"] == 0
    assert table_counts(app)["tasks"] == 1
