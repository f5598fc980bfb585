package qmp

import "context"

// BlockStats is one block device's I/O counters (query-blockstats).
type BlockStats struct {
	// Device is the drive id given on the command line.
	Device string `json:"device"`
	Stats  struct {
		ReadBytes        int64 `json:"rd_bytes"`
		WriteBytes       int64 `json:"wr_bytes"`
		ReadOperations   int64 `json:"rd_operations"`
		WriteOperations  int64 `json:"wr_operations"`
		FailedReadOps    int64 `json:"failed_rd_operations"`
		FailedWriteOps   int64 `json:"failed_wr_operations"`
		FailedFlushOps   int64 `json:"failed_flush_operations"`
		InvalidReadOps   int64 `json:"invalid_rd_operations"`
		InvalidWriteOps  int64 `json:"invalid_wr_operations"`
		InvalidFlushOps  int64 `json:"invalid_flush_operations"`
		FlushOperations  int64 `json:"flush_operations"`
		ReadTotalTimeNS  int64 `json:"rd_total_time_ns"`
		WriteTotalTimeNS int64 `json:"wr_total_time_ns"`
	} `json:"stats"`
}

// QueryBlockstats asks for the block devices' I/O counters.
func (q *Conn) QueryBlockstats(ctx context.Context) ([]BlockStats, error) {
	var out []BlockStats
	err := q.Execute(ctx, "query-blockstats", nil, &out)
	return out, err
}

// CPU is one virtual CPU and the host thread that runs it
// (query-cpus-fast).
type CPU struct {
	Index    int `json:"cpu-index"`
	ThreadID int `json:"thread-id"`
}

// QueryCPUsFast lists the virtual CPUs without interrupting them.
func (q *Conn) QueryCPUsFast(ctx context.Context) ([]CPU, error) {
	var out []CPU
	err := q.Execute(ctx, "query-cpus-fast", nil, &out)
	return out, err
}
