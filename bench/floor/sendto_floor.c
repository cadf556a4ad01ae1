/*
 * The kernel's floor for a push to many idle subscribers (issue 26), with
 * no Rust and no WebSocket in the way: N loopback TCP connections, read by
 * a child process through epoll as a load generator would, and one send(2)
 * of LEN bytes to each in a loop, ROUNDS times, half a second apart. Each
 * round prints its wall time and the sender's CPU per send; on loopback
 * that includes the receiving side's TCP work and the reader's wake-up,
 * as a server's push does. T=2 in the environment shares the sends out
 * over two threads (OpenMP); READER_CPU=N puts the reader on core N.
 *
 *   cc -O2 -fopenmp -o sendto_floor sendto_floor.c
 *   READER_CPU=1 taskset -c 0 ./sendto_floor 19000 5 338
 *
 * Run by bench/fanout_direct.sh.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <fcntl.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sched.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec/1e9;}
static double cpu(){struct rusage r;getrusage(RUSAGE_SELF,&r);return r.ru_utime.tv_sec+r.ru_utime.tv_usec/1e6+r.ru_stime.tv_sec+r.ru_stime.tv_usec/1e6;}
int main(int argc,char**argv){
  if(argc<3){fprintf(stderr,"usage: %s N ROUNDS [LEN]\n",argv[0]);return 2;}
  int n=atoi(argv[1]); int rounds=atoi(argv[2]); int len=argc>3?atoi(argv[3]):40;
  if(len<1||len>65536||n<1){fprintf(stderr,"LEN 1-65536, N at least 1\n");return 2;}
  int ls=socket(AF_INET,SOCK_STREAM,0); int one=1; setsockopt(ls,SOL_SOCKET,SO_REUSEADDR,&one,4);
  struct sockaddr_in a={0}; a.sin_family=AF_INET; a.sin_addr.s_addr=htonl(0x7f000001); a.sin_port=0;
  bind(ls,(void*)&a,sizeof a); listen(ls,4096); socklen_t al=sizeof a; getsockname(ls,(void*)&a,&al);
  pid_t pid=fork();
  if(pid==0){ close(ls);
    /* READER_CPU=N: the reader on a core of its own, as a load generator. */
    if(getenv("READER_CPU")){cpu_set_t set; CPU_ZERO(&set); CPU_SET(atoi(getenv("READER_CPU")),&set); sched_setaffinity(0,sizeof set,&set);}
    int ep=epoll_create1(0);
    for(int i=0;i<n;i++){int s=socket(AF_INET,SOCK_STREAM,0); if(connect(s,(void*)&a,sizeof a)<0){perror("connect");exit(1);} fcntl(s,F_SETFL,O_NONBLOCK);
      struct epoll_event e={.events=EPOLLIN,.data.fd=s}; epoll_ctl(ep,EPOLL_CTL_ADD,s,&e);}
    long total=0; long want=(long)n*rounds*len; struct epoll_event evs[1024]; char buf[65536];
    while(total<want){int k=epoll_wait(ep,evs,1024,5000); if(k<=0)break; for(int i=0;i<k;i++){ssize_t r; while((r=read(evs[i].data.fd,buf,sizeof buf))>0) total+=r;}}
    fprintf(stderr,"client got %ld of %ld\n",total,want); exit(0);
  }
  int *fds=malloc(n*sizeof(int));
  for(int i=0;i<n;i++){fds[i]=accept(ls,0,0); setsockopt(fds[i],IPPROTO_TCP,TCP_NODELAY,&one,4); fcntl(fds[i],F_SETFL,O_NONBLOCK);}
  sleep(1);
  char msg[65536]; memset(msg,'x',len);
  for(int r=0;r<rounds;r++){
    double t0=now(),c0=cpu();
    int T=getenv("T")?atoi(getenv("T")):1; _Pragma("omp parallel for num_threads(T)") for(int i=0;i<n;i++){ if(send(fds[i],msg,len,0)!=len){perror("send");} }
    double t1=now(),c1=cpu();
    printf("round %d: %.1f ms wall, %.2f us/send wall, %.2f us/send cpu\n",r,(t1-t0)*1e3,(t1-t0)*1e6/n,(c1-c0)*1e6/n);
    usleep(500000);
  }
  int st; waitpid(pid,&st,0); return 0;
}
