-- wrk script of the widget read: GET /api/v1/widgets/w0000001 to
-- w0000500 in turn (per wrk thread), with the bearer token in $TOKEN.
local n, i = 500, 0
local headers = { ["Authorization"] = "Bearer " .. os.getenv("TOKEN") }

request = function()
	i = i % n + 1
	return wrk.format("GET", string.format("/api/v1/widgets/w%07d", i), headers)
end
