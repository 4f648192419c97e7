// Command xctl-go-example shows the xctl API from Go: it lists the open
// positions, then streams prices (snapshot, then updates) for a while.
//
//	go run . --server 127.0.0.1:50051 --pairs BTC-USDT,ETH-USDT --updates 5
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	xctlv1 "xctl/gateway/gen/xctl/v1"
)

func main() {
	server := flag.String("server", "127.0.0.1:50051", "xctld address")
	pairs := flag.String("pairs", "", "comma-separated pairs (empty: all configured)")
	updates := flag.Int("updates", 5, "price updates to print before exiting (0: forever)")
	flag.Parse()

	conn, err := grpc.NewClient(*server, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fail(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	positions, err := xctlv1.NewExchangeControlClient(conn).ListPositions(ctx,
		&xctlv1.ListPositionsRequest{Status: xctlv1.PositionStatus_POSITION_STATUS_OPEN})
	if err != nil {
		fail(err)
	}
	fmt.Printf("%d open positions\n", len(positions.GetPositions()))
	for _, p := range positions.GetPositions() {
		fmt.Printf("  %s %s %s %s @ %s (unrealized %s)\n", p.GetStrategyId(), p.GetSymbol(),
			p.GetSide(), p.GetQuantity().GetValue(), p.GetOpenPrice().GetValue(),
			p.GetUnrealizedPnl().GetValue())
	}

	req := &xctlv1.StreamPricesRequest{}
	if *pairs != "" {
		req.Pairs = strings.Split(*pairs, ",")
	}
	streamCtx, stop := context.WithCancel(context.Background())
	defer stop()
	stream, err := xctlv1.NewPriceFeedClient(conn).StreamPrices(streamCtx, req)
	if err != nil {
		fail(err)
	}
	seen := 0
	for *updates == 0 || seen <= *updates {
		msg, err := stream.Recv()
		if err != nil {
			fail(err)
		}
		var ticks []*xctlv1.Tick
		switch {
		case msg.GetSnapshot() != nil:
			ticks = msg.GetSnapshot().GetTicks()
			fmt.Println("snapshot:")
		case msg.GetUpdate() != nil:
			ticks = msg.GetUpdate().GetTicks()
			seen++
			fmt.Printf("update %d:\n", seen)
		default:
			continue // heartbeats and status elements
		}
		for _, t := range ticks {
			fmt.Printf("  %s bid %s ask %s last %s\n", t.GetPair(), t.GetBid().GetValue(),
				t.GetAsk().GetValue(), t.GetLast().GetValue())
		}
	}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "xctl-go-example: %v\n", err)
	os.Exit(1)
}
