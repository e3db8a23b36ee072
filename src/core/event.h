#ifndef BILLD_EVENT_H
#define BILLD_EVENT_H
#include "../common.h"
#endif
