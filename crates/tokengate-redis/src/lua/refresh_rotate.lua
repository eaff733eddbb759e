-- The atomic rotation (RedisRefreshStore::rotate): one compare-and-set over
-- every record of the family it reads or writes.
-- KEYS[1]: the family hash. Fields: 'r:<id>' the record's immutable JSON,
--   'u:<id>' its first use (Unix seconds), 's:<id>' its successor's id,
--   'revoked' the family's revocation instant.
-- ARGV: presented id, mode ('u' = expected unused, 's' = superseding),
--   earlier successor id (mode 's'), new id, new record JSON, at,
--   claimed ('1' when the caller holds the new id's index entry),
--   expire-at ('' = no TTL), new record's used_at (''), new record's
--   successor ('').
-- Checks in the contract's order; every answer but 'rotated' writes nothing.
local fam = KEYS[1]
local p, mode, earlier, new_id, new_json, at, claimed, exp, new_used, new_succ =
  ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local rec = redis.call('HGET', fam, 'r:' .. p)
if not rec then return {'unknown'} end
if redis.call('HEXISTS', fam, 'revoked') == 1 then return {'family_revoked'} end
local used = redis.call('HGET', fam, 'u:' .. p)
local succ = redis.call('HGET', fam, 's:' .. p)
if mode == 'u' then
  if used then return {'changed', rec, used, succ} end
else
  if succ ~= earlier then return {'changed', rec, used, succ} end
  if redis.call('HEXISTS', fam, 'r:' .. earlier) == 0
    or redis.call('HEXISTS', fam, 'u:' .. earlier) == 1 then
    return {'successor_used'}
  end
end
if claimed ~= '1' or redis.call('HEXISTS', fam, 'r:' .. new_id) == 1 then
  return {'duplicate'}
end
if not used then redis.call('HSET', fam, 'u:' .. p, at) end
redis.call('HSET', fam, 's:' .. p, new_id)
if mode == 's' then redis.call('HSET', fam, 'u:' .. earlier, at) end
redis.call('HSET', fam, 'r:' .. new_id, new_json)
if new_used ~= '' then redis.call('HSET', fam, 'u:' .. new_id, new_used) end
if new_succ ~= '' then redis.call('HSET', fam, 's:' .. new_id, new_succ) end
if exp ~= '' then redis.call('EXPIREAT', fam, exp) end
return {'rotated'}
