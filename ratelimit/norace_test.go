//go:build !race

package ratelimit

const raceScale = 1
