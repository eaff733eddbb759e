-- The stored fields of several API key records at once (pipelines do not
-- work on every cluster connection; one script does). KEYS: the records.
local out = {}
for i, key in ipairs(KEYS) do
  out[i] = redis.call('HMGET', key, 'rec', 'rv', 'ex', 'rb', 'n')
end
return out
