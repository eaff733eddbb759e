-- RedisApiKeyStore::import: many inserts in one call, skipping ids that
-- exist. KEYS[4 + 2i], KEYS[5 + 2i]: record i and its owner's set.
-- ARGV[2 + 5i ..]: id, JSON, revoked_at, expires_at, replaced_by.
-- Returns {records inserted, the last change number (0 if none)}.
local inserted, last = 0, 0
for i = 0, (#KEYS - 3) / 2 - 1 do
  local key, owner = KEYS[4 + 2 * i], KEYS[5 + 2 * i]
  local a = 2 + 5 * i
  if redis.call('EXISTS', key) == 0 then
    last = store(key, owner, ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4])
    inserted = inserted + 1
  end
end
return {inserted, last}
