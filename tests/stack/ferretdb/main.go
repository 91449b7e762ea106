// Command ferretdb-gridgate runs FerretDB (MongoDB wire protocol, SQLite storage) for the local
// test stack, and checks that such a server answers.
//
// Serve:
//
//	ferretdb-gridgate -listen 127.0.0.1:27017 -data /abs/dir
//
// Check (exit 0 when a MongoDB `ping` succeeds; a mongodb:// URI works too):
//
//	ferretdb-gridgate -ping 127.0.0.1:27017
//
// The server stops cleanly on SIGTERM or SIGINT.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on")
	data := flag.String("data", "", "directory for the SQLite databases (created if missing)")
	ping := flag.String("ping", "", "instead of serving, send a MongoDB `ping` to this HOST:PORT (or mongodb:// URI) and exit 0 on success")
	timeout := flag.Duration("timeout", 2*time.Second, "deadline of the -ping check")
	debug := flag.Bool("debug", false, "log at debug level")
	flag.Parse()

	if *ping != "" {
		if err := pingServer(*ping, *timeout); err != nil {
			fmt.Fprintf(os.Stderr, "ping %s: %v\n", *ping, err)
			os.Exit(1)
		}
		fmt.Println("ok")
		return
	}

	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	if err := serve(logger, *listen, *data); err != nil {
		logger.Error("ferretdb failed", "error", err)
		os.Exit(1)
	}
}

func serve(logger *slog.Logger, listen, data string) error {
	if data == "" {
		return errors.New("-data is required")
	}
	dir, err := filepath.Abs(data)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	// The SQLite URL names a directory and must end with a slash.
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: listen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/",
	})
	if err != nil {
		return err
	}

	logger.Info("ferretdb listening", "uri", f.MongoDBURI(), "data", dir, "pid", os.Getpid())
	err = f.Run(ctx)
	logger.Info("ferretdb stopped")
	return err
}

func pingServer(addr string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	uri := addr
	if !strings.HasPrefix(uri, "mongodb://") {
		uri = "mongodb://" + addr + "/?directConnection=true"
	}
	opts := options.Client().
		ApplyURI(uri).
		SetConnectTimeout(timeout).
		SetServerSelectionTimeout(timeout)
	client, err := mongo.Connect(ctx, opts)
	if err != nil {
		return err
	}
	defer client.Disconnect(context.Background()) //nolint:errcheck

	return client.Database("admin").RunCommand(ctx, bson.D{{Key: "ping", Value: 1}}).Err()
}
