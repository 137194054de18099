/*
 * mock-cluster: librdkafka's mock cluster as a process, for Courier's Kafka
 * tests. It is a real Kafka-protocol server (produce, fetch, consumer groups,
 * offset commits) that keeps everything in memory: no persistence, and no
 * CreateTopics / DeleteTopics / DescribeGroups. Topics are created on first
 * use with 4 partitions.
 *
 * Prints its bootstrap address ("127.0.0.1:PORT") on the first line of
 * stdout, then reads commands on stdin, one per line:
 *   down   closes every client connection and refuses new ones (a broker outage)
 *   up     accepts connections again
 * It exits when stdin closes, so it never outlives the test that started it.
 *
 * Build: ./build.sh (links the client's bundled librdkafka when present,
 * otherwise Debian's librdkafka-dev).
 */
#include <stdio.h>
#include <string.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

int main(void) {
        char errstr[512];
        char line[256];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
        /* The mock needs a handle for its bookkeeping; nothing is sent with it. */
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (!rk) {
                fprintf(stderr, "mock-cluster: %s\n", errstr);
                return 1;
        }
        rd_kafka_mock_cluster_t *mcluster = rd_kafka_mock_cluster_new(rk, 1);
        if (!mcluster) {
                fprintf(stderr, "mock-cluster: could not create the mock cluster\n");
                return 1;
        }
#if RD_KAFKA_VERSION >= 0x020600ff
        /* A real broker waits 3 s for more members of a new group; tests need no wait. */
        rd_kafka_mock_group_initial_rebalance_delay_ms(mcluster, 0);
#endif
        printf("%s\n", rd_kafka_mock_cluster_bootstraps(mcluster));
        fflush(stdout);
        while (fgets(line, sizeof(line), stdin)) {
                if (strncmp(line, "down", 4) == 0)
                        rd_kafka_mock_broker_set_down(mcluster, 1);
                else if (strncmp(line, "up", 2) == 0)
                        rd_kafka_mock_broker_set_up(mcluster, 1);
                printf("ok\n");
                fflush(stdout);
        }
        rd_kafka_mock_cluster_destroy(mcluster);
        rd_kafka_destroy(rk);
        return 0;
}
