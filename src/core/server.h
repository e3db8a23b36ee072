#ifndef BILLD_SERVER_H
#define BILLD_SERVER_H
#include "../common.h"
#endif
