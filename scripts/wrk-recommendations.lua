-- wrk script: recommendation requests at random points around San Francisco, random users.
math.randomseed(42)
request = function()
  local lat = 37.7749 + (math.random() - 0.5) * 0.1
  local lng = -122.4194 + (math.random() - 0.5) * 0.1
  return wrk.format("GET", string.format(
    "/v1/recommendations?lat=%.5f&lng=%.5f&radius_km=2&limit=10&user_id=%d", lat, lng, math.random(1, 100000)))
end
