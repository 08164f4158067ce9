package store

import (
	"strconv"

	"github.com/redis/go-redis/v9"
)

type redisPipeliner = redis.Pipeliner

func itoa(n int) string { return strconv.Itoa(n) }

func zmember(n int) redis.Z { return redis.Z{Score: float64(n), Member: n} }
