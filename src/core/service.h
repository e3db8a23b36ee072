#ifndef BILLD_SERVICE_H
#define BILLD_SERVICE_H
#include "../common.h"
#endif
