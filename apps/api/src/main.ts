import 'reflect-metadata';
import { runHerald } from './bootstrap';

void runHerald();
