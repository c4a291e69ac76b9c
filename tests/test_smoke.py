def test_member_lists_members_and_outsider_gets_404(team, api):
    response = api.as_(team.developer).get("/api/v1/projects/SB/members/")
    assert response.status_code == 200
    assert {m["user"]["username"] for m in response.json()["results"]} == {"admin", "sm", "po", "dev", "stake"}
    assert api.as_(team.outsider).get("/api/v1/projects/SB/members/").status_code == 404
