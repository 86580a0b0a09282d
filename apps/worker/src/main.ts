import 'reflect-metadata';
import { runWorkerProcess } from './bootstrap';

void runWorkerProcess();
